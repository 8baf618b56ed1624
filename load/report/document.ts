/** A report as blocks, rendered to Markdown (summary.md, the terminal) and HTML alike. */
export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'code'; text: string }
  | { kind: 'chart'; file: string; title: string; svg: string };

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function markdownTable(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) =>
    Math.max(3, h.length, ...rows.map((row) => cell(row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => cell(c).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
}

export function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${block.text}`);
        break;
      case 'paragraph':
        out.push(block.text);
        break;
      case 'list':
        out.push(block.items.map((item) => `- ${item}`).join('\n'));
        break;
      case 'table':
        out.push(markdownTable(block.head, block.rows).join('\n'));
        break;
      case 'code':
        out.push(['```', block.text, '```'].join('\n'));
        break;
      case 'chart':
        out.push(`![${block.title}](${block.file})`);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

/** `code` spans of Markdown become <code>; everything else is escaped text. */
function inline(text: string): string {
  return escapeXml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
`;

export function toHtml(title: string, blocks: Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`<h${block.level}>${inline(block.text)}</h${block.level}>`);
        break;
      case 'paragraph':
        out.push(`<p>${inline(block.text)}</p>`);
        break;
      case 'list':
        out.push(`<ul>${block.items.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`);
        break;
      case 'table':
        out.push(
          '<table>',
          `<tr>${block.head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>`,
          ...block.rows.map(
            (row) => `<tr>${row.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`,
          ),
          '</table>',
        );
        break;
      case 'code':
        out.push(`<pre>${escapeXml(block.text)}</pre>`);
        break;
      case 'chart':
        // Inline, so the page is one self-contained file.
        out.push(
          `<figure>${block.svg.replace(/^<\?xml[^>]*>/, '')}<figcaption>${inline(block.title)} (<code>${escapeXml(block.file)}</code>)</figcaption></figure>`,
        );
        break;
    }
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    ...out,
    '</body></html>',
    '',
  ].join('\n');
}

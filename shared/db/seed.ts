import { QueryTypes, type Sequelize } from 'sequelize';

interface DemoProduct {
  id: number;
  name: string;
  description: string;
  price: number;
  stock: number;
}

/** A small demo catalog; prices are KRW. Ids are fixed so seeding twice adds nothing. */
export const demoCatalog: readonly DemoProduct[] = [
  ['Mechanical Keyboard', 'Hot-swappable 87-key keyboard with brown switches.', 129000, 120],
  ['Wireless Mouse', 'Ergonomic mouse, 2.4 GHz and Bluetooth, 70-day battery.', 45000, 300],
  ['27" 4K Monitor', 'IPS panel, USB-C with 65 W power delivery.', 489000, 40],
  ['USB-C Hub', '7-in-1: HDMI, 3 x USB-A, SD, microSD, 100 W pass-through.', 39000, 500],
  ['Noise-Cancelling Headphones', 'Over-ear, 30 h battery, multipoint.', 359000, 60],
  ['Laptop Stand', 'Aluminium, adjustable height, foldable.', 32000, 250],
  ['Webcam 1080p', 'Auto focus, dual microphones, privacy shutter.', 69000, 150],
  ['Portable SSD 1 TB', 'USB 3.2 Gen 2, up to 1,050 MB/s.', 149000, 90],
  ['Desk Mat', '900 x 400 mm, stitched edges, water resistant.', 19000, 400],
  ['Smart Speaker', 'Voice assistant with room-filling sound.', 99000, 80],
  ['Phone Charger 65 W', 'GaN, two USB-C ports and one USB-A.', 42000, 350],
  ['Flash Sale Item', 'Limited stock: used by the flash-sale load scenario.', 10000, 10],
].map(([name, description, price, stock], index) => ({
  id: index + 1,
  name: name as string,
  description: description as string,
  price: price as number,
  stock: stock as number,
}));

/** Inserts the demo products that are not there yet; returns how many were added. */
export async function seedDemoCatalog(sequelize: Sequelize): Promise<number> {
  let added = 0;
  for (const p of demoCatalog) {
    const [, affected] = await sequelize.query(
      'INSERT IGNORE INTO products (id, name, description, price, stock) VALUES (?, ?, ?, ?, ?)',
      { replacements: [p.id, p.name, p.description, p.price, p.stock], type: QueryTypes.INSERT },
    );
    added += affected;
  }
  return added;
}

import { QueryTypes, type Sequelize } from 'sequelize';

export interface Balance {
  userId: number;
  balance: number;
  updatedAt: Date | null;
}

export interface UsersRepository {
  /** A user that was never charged exists implicitly with balance 0. */
  balanceOf(userId: number): Promise<Balance>;
}

export function createUsersRepository(sequelize: Sequelize): UsersRepository {
  return {
    async balanceOf(userId) {
      const rows = await sequelize.query<{ balance: number; updatedAt: Date }>(
        'SELECT balance, updated_at AS updatedAt FROM users WHERE id = ?',
        { replacements: [userId], type: QueryTypes.SELECT },
      );
      const row = rows[0];
      return { userId, balance: row?.balance ?? 0, updatedAt: row?.updatedAt ?? null };
    },
  };
}

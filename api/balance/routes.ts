import { Router, type RequestHandler } from 'express';
import type { UsersRepository } from '../../shared/db/repositories/users';
import { userIdOf } from '../http/auth';

export function balanceRoutes(users: UsersRepository, requireUser: RequestHandler): Router {
  const router = Router();

  router.get('/api/balance', requireUser, async (_req, res) => {
    const balance = await users.balanceOf(userIdOf(res));
    res.json({
      userId: balance.userId,
      balance: balance.balance,
      updatedAt: balance.updatedAt?.toISOString() ?? null,
    });
  });

  return router;
}

import { Router, type RequestHandler } from 'express';
import type { UsersRepository } from '../../shared/db/repositories/users';
import { userIdOf } from '../http/auth';
import { writeJson } from '../http/respond';

export function balanceRoutes(users: UsersRepository, requireUser: RequestHandler): Router {
  const router = Router();

  router.get('/api/balance', requireUser, async (req, res) => {
    const balance = await users.balanceOf(userIdOf(res));
    writeJson(
      req,
      res,
      200,
      JSON.stringify({
        userId: balance.userId,
        balance: balance.balance,
        updatedAt: balance.updatedAt?.toISOString() ?? null,
      }),
    );
  });

  return router;
}

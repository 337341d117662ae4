/**
 * Routes that fail, so the demo shows the debugger's page (mounted at /boom): a sync throw, an
 * async one, one with a cause, an AggregateError, and one thrown from inside a library.
 */
import { stringifySetCookie } from 'cookie';
import { type Application, HTTPError } from '../../src/index.js';

interface Order {
  id: number;
  items: string[];
}

function total(order: Order): number {
  const prices: Record<string, number> = { tea: 3, cake: 4 };
  let sum = 0;
  for (const item of order.items) {
    const price = prices[item];
    if (price === undefined) throw new RangeError(`no price for "${item}" in order ${order.id}`);
    sum += price;
  }
  return sum;
}

async function loadOrder(id: number): Promise<Order> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  const order = { id, items: ['tea', 'scone'] };
  return { ...order, items: [...order.items] };
}

export const boom: Application = async (_request, environ) => {
  switch (environ.pathInfo) {
    case '/sync': {
      const order: Order = { id: 7, items: ['tea', 'coffee'] };
      return new Response(String(total(order)));
    }
    case '/async': {
      const order = await loadOrder(42);
      const discount = 0.1;
      return new Response(String(total(order) * (1 - discount)));
    }
    case '/cause': {
      try {
        JSON.parse('{"user": ');
      } catch (error) {
        throw new Error('could not read the saved profile', { cause: error });
      }
      return new Response('unreachable');
    }
    case '/aggregate': {
      const results = await Promise.allSettled([
        loadOrder(1).then(total),
        Promise.reject(new TypeError('the payment service answered 502')),
      ]);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      throw new AggregateError(failures, `${failures.length} of ${results.length} steps failed`);
    }
    case '/library': {
      const name = 'bad name';
      return new Response(stringifySetCookie(name, 'value'));
    }
    default:
      throw new HTTPError(404);
  }
};

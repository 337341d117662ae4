import { describe, expect, it } from 'vitest';
import { type Application, compose, FastResponse, type Middleware } from '../src/index.js';
import { TestClient } from '../src/testing/index.js';

const tag =
  (name: string, log: string[]): Middleware =>
  (app) =>
  async (request, environ) => {
    log.push(`${name} in`);
    const response = await app(request, environ);
    log.push(`${name} out`);
    return response;
  };

describe('compose', () => {
  it('runs the first listed outermost, like a(b(c(app)))', async () => {
    const log: string[] = [];
    const app: Application = () => {
      log.push('app');
      return new FastResponse('ok');
    };
    const composed = compose(tag('a', log), tag('b', log), tag('c', log))(app);
    const res = await new TestClient(composed).get('/');
    expect(res.text()).toBe('ok');
    expect(log).toEqual(['a in', 'b in', 'c in', 'app', 'c out', 'b out', 'a out']);
  });

  it('with no middleware is the identity', () => {
    const app: Application = () => new FastResponse('x');
    expect(compose()(app)).toBe(app);
  });

  it('names the argument that is not a middleware', () => {
    expect(() => compose(tag('a', []), 'oops' as unknown as Middleware)).toThrow(
      /argument 2 is string, not a middleware function/,
    );
  });

  it('names the middleware that returns something other than an application', () => {
    const broken = function broken() {
      return undefined;
    } as unknown as Middleware;
    expect(() => compose(broken)(() => new FastResponse(''))).toThrow(
      /middleware 1 \(broken\) returned undefined/,
    );
  });
});

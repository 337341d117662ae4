/**
 * `.ci/run` and package.json's `engines` name the same Node lines: what CI tests is what
 * mortar states it runs on (npm warns on an install under any other Node).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The CI machine's own Node line, the first `.ci/run` tests (Debian's, on its image). */
const MACHINE = 20;

it(".ci/run tests the Node lines package.json's engines names, the one running this among them", () => {
  const run = readFileSync(`${root}.ci/run`, 'utf8');
  const installed = /^NODE_MAJORS=\(([\d ]+)\)$/m.exec(run)?.[1]?.split(' ').map(Number);
  const { engines } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
  const ranges = (engines.node as string).split(' || ');
  // Each alternative is one line from a minimum: ^major.minor.patch.
  expect(
    ranges.every((range) => /^\^\d+\.\d+\.\d+$/.test(range)),
    engines.node,
  ).toBe(true);
  const lines = ranges.map((range) => Number(/^\^(\d+)/.exec(range)![1]));
  expect(lines).toEqual([MACHINE, ...(installed ?? [])]);
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const minimum = ranges[lines.indexOf(major)]?.slice(1).split('.').map(Number);
  expect(minimum !== undefined && minor >= minimum[1]!, process.version).toBe(true);
});

/**
 * The folder of profiles: each `.cpuprofile` named after its request —
 * `2026-12-04T17-05-01.123Z_GET_report-2024_200_412ms.cpuprofile` (time, method, path,
 * status, milliseconds) — so the names sort by time and say what each is without opening it.
 */
import { mkdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CpuProfile } from './profiler.js';
import { type HeavyFunction, heaviestFunctions } from './summary.js';

/** A profile in the folder. */
export interface ProfileEntry {
  /** The file's name. */
  name: string;
  /** When the request started, in milliseconds since the epoch. */
  time: number;
  method: string;
  /** The path, as the file name keeps it (`/` and unsafe characters as `-`). */
  path: string;
  /** The response's status, or `error` when the application threw. */
  status: string;
  /** Milliseconds the application took. */
  duration: number;
}

const NAME =
  /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z)_([A-Za-z]{1,20})_([\w.-]*?)_(\d{3}|error)_(\d+)ms(?:_\d+)?\.cpuprofile$/;

/** Whether `name` is a profile's file name as {@link profileName} makes them. */
export const isProfileName = (name: string): boolean => NAME.test(name);

/** The file name of a request's profile. */
export function profileName(entry: Omit<ProfileEntry, 'name'>): string {
  const time = new Date(entry.time).toISOString().replaceAll(':', '-');
  const slug =
    entry.path
      .replace(/^\/+/, '')
      .replace(/[^\w.-]+|_/g, '-')
      .slice(0, 80) || '-';
  const method = entry.method.replace(/[^A-Za-z]/g, '').slice(0, 20) || 'X';
  return `${time}_${method}_${slug}_${entry.status}_${Math.round(entry.duration)}ms.cpuprofile`;
}

/** What a file name says, or `undefined` for a file that is not a profile's. */
export function parseProfileName(name: string): ProfileEntry | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const [, time, method, slug, status, duration] = match;
  const iso = time!.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3');
  return {
    name,
    time: Date.parse(iso),
    method: method!,
    path: `/${slug === '-' ? '' : slug}`,
    status: status!,
    duration: Number(duration),
  };
}

/** The folder, and the heaviest functions of the profiles already read. */
export class ProfileStore {
  readonly dir: string;
  readonly #heaviest = new Map<string, HeavyFunction[]>();

  /** Makes the folder when it is not there. @throws Error when it cannot be made. */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Writes a profile; never overwrites one (a second of the same name gets `_2`). */
  async write(entry: Omit<ProfileEntry, 'name'>, profile: CpuProfile): Promise<string> {
    const text = JSON.stringify(profile);
    const base = profileName(entry);
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : base.replace(/\.cpuprofile$/, `_${n}.cpuprofile`);
      try {
        await writeFile(path.join(this.dir, name), text, { flag: 'wx' });
        this.#heaviest.set(name, heaviestFunctions(profile));
        return name;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw error;
      }
    }
  }

  /** The newest `limit` profiles, newest first. */
  async list(limit = 50): Promise<ProfileEntry[]> {
    const names = (await readdir(this.dir)).filter(isProfileName).sort().reverse();
    return names
      .slice(0, limit)
      .map(parseProfileName)
      .filter((entry) => entry !== undefined);
  }

  /** The file of profile `name`, when `name` is one's. */
  file(name: string): string | undefined {
    return isProfileName(name) ? path.join(this.dir, name) : undefined;
  }

  /** The heaviest functions of profile `name` (read once), or `undefined` if it cannot be. */
  async heaviest(name: string): Promise<HeavyFunction[] | undefined> {
    const known = this.#heaviest.get(name);
    if (known) return known;
    const file = this.file(name);
    if (!file) return undefined;
    try {
      const found = heaviestFunctions(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
      if (this.#heaviest.size > 500) this.#heaviest.clear();
      this.#heaviest.set(name, found);
      return found;
    } catch {
      return undefined;
    }
  }
}

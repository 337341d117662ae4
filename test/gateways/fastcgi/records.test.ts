// FastCGI 1.0 records, without a socket or a front end.
import { describe, expect, it } from 'vitest';
import {
  BEGIN_REQUEST,
  decodePairs,
  encodePairs,
  encodeRecord,
  endRequestBody,
  HEADER_SIZE,
  PARAMS,
  readRecord,
  STDOUT,
  UNKNOWN_TYPE,
  unknownTypeBody,
} from '../../../src/gateways/fastcgi/records.js';

describe('encodeRecord / readRecord', () => {
  it('writes the header of the specification and pads the content to 8 bytes', () => {
    const record = encodeRecord(STDOUT, 0x1234, Buffer.from('hello'));
    expect([...record.subarray(0, HEADER_SIZE)]).toEqual([1, STDOUT, 0x12, 0x34, 0, 5, 3, 0]);
    expect(record.length).toBe(16);
    expect(record.subarray(8, 13).toString()).toBe('hello');
    expect([...record.subarray(13)]).toEqual([0, 0, 0]);
  });

  it('reads back what it wrote, and finds the next record after the padding', () => {
    const buffer = Buffer.concat([
      encodeRecord(PARAMS, 1, Buffer.from('abc')),
      encodeRecord(PARAMS, 1),
    ]);
    const first = readRecord(buffer, 0);
    expect(first).toMatchObject({ type: PARAMS, requestId: 1, next: 16 });
    expect((first as { content: Buffer }).content.toString()).toBe('abc');
    expect(readRecord(buffer, 16)).toMatchObject({ type: PARAMS, requestId: 1, next: 24 });
  });

  it('asks for more bytes when the header or the content is cut', () => {
    const record = encodeRecord(PARAMS, 1, Buffer.from('abcdefgh'));
    expect(readRecord(record.subarray(0, 7), 0)).toBeUndefined();
    expect(readRecord(record.subarray(0, 12), 0)).toBeUndefined();
    expect(readRecord(record, 0)).toBeDefined();
  });

  it('refuses a header of another version', () => {
    const record = encodeRecord(BEGIN_REQUEST, 1, Buffer.alloc(8));
    record[0] = 2;
    expect(readRecord(record, 0)).toEqual({ error: 'a record with a version other than 1' });
  });

  it('a record of 65,535 content bytes round-trips', () => {
    const content = Buffer.alloc(65_535, 7);
    const read = readRecord(encodeRecord(STDOUT, 9, content), 0) as { content: Buffer };
    expect(read.content.equals(content)).toBe(true);
  });
});

describe('name-value pairs', () => {
  it('round-trips short and long names and values (1- and 4-byte lengths)', () => {
    const pairs = { A: '1', SCRIPT_NAME: '/app', LONG: 'x'.repeat(300), ['N'.repeat(200)]: '' };
    const encoded = encodePairs(pairs);
    expect(encoded[0]).toBe(1);
    expect(decodePairs(encoded)).toEqual(pairs);
  });

  it('keeps bytes as latin1, as the meta-variables arrive', () => {
    const encoded = encodePairs({ REQUEST_URI: '/caf\u00e9' });
    expect(decodePairs(encoded).REQUEST_URI).toBe('/caf\u00e9');
  });

  it('throws on a cut pair', () => {
    const encoded = encodePairs({ NAME: 'value' });
    expect(() => decodePairs(encoded.subarray(0, encoded.length - 1))).toThrow(/truncated/);
  });
});

describe('management and end bodies', () => {
  it('END_REQUEST carries the app status and the protocol status', () => {
    expect([...endRequestBody(0x01020304, 3)]).toEqual([1, 2, 3, 4, 3, 0, 0, 0]);
  });

  it('UNKNOWN_TYPE names the type it does not know', () => {
    expect(unknownTypeBody(42)[0]).toBe(42);
    expect(encodeRecord(UNKNOWN_TYPE, 0, unknownTypeBody(42)).length).toBe(16);
  });
});

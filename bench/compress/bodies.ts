/** The JSON bodies every server sends: about 1 KiB and 100 KiB, the same bytes for each. */
function json(bytes: number): string {
  const items: { id: number; name: string; tags: string[] }[] = [];
  while (JSON.stringify(items).length < bytes) {
    const id = items.length;
    items.push({ id, name: `item ${id}`, tags: ['a', `t${id % 7}`] });
  }
  return JSON.stringify(items);
}

export const bodies: Record<string, string> = { '/1k': json(1024), '/100k': json(100 * 1024) };

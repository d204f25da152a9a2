/**
 * Which part of a pass is finished, in pass order, when its pieces finish out of order.
 *
 * A pass (one endpoint read in update_time order) is a sequence of windows, a window a
 * sequence of pages, a page a sequence of slices. Concurrent lanes finish them in any order,
 * but a checkpoint may only claim a contiguous finished prefix: resuming from it must re-read
 * everything that was not finished. `position` is the cursor that prefix allows (the newest
 * update_time in it, or the start of the first unfinished window), and it only ever grows.
 */
export class ProgressSequence {
  private readonly parts: Array<ProgressSequence | ProgressLeaf> = [];
  private head = 0;
  private closed = false;
  private abandoned = false;
  private latest?: string;

  /** `start`: a position that is safe as soon as everything before this sequence is done. */
  constructor(private readonly start?: string) {}

  /** Appends a nested sequence (a window, a page). */
  sequence(start?: string): ProgressSequence {
    const child = new ProgressSequence(start);
    this.parts.push(child);
    return child;
  }

  /** Inserts a nested sequence right after `existing` (a window split in two). */
  sequenceAfter(existing: ProgressSequence, start?: string): ProgressSequence {
    const index = this.parts.indexOf(existing);
    if (index < 0) throw new Error('sequenceAfter: not a part of this sequence');
    const child = new ProgressSequence(start);
    this.parts.splice(index + 1, 0, child);
    return child;
  }

  /** Appends a unit of work (a slice of rows). */
  leaf(): ProgressLeaf {
    const leaf = new ProgressLeaf();
    this.parts.push(leaf);
    return leaf;
  }

  /** No more parts will be appended (the window or page has been read to its end). */
  close(): void {
    this.closed = true;
  }

  /**
   * The work of this sequence is given up and done another way (a reader that falls back to
   * another paging): it counts as finished but claims nothing from now on. Read the parent's
   * position first: what it already claimed stays claimed.
   */
  abandon(): void {
    this.abandoned = true;
    this.closed = true;
    this.latest = undefined;
  }

  /** Whether every part is finished and nothing more will come. */
  get complete(): boolean {
    if (this.abandoned) return true;
    this.advance();
    return this.closed && this.head === this.parts.length;
  }

  /** The cursor the finished prefix allows; undefined while nothing positioned is finished. */
  get position(): string | undefined {
    this.advance();
    return this.latest;
  }

  private advance(): void {
    if (this.abandoned) return;
    this.latest = later(this.latest, this.start);
    while (this.head < this.parts.length) {
      const part = this.parts[this.head];
      if (part instanceof ProgressLeaf) {
        if (!part.done) return;
        this.latest = later(this.latest, part.position);
      } else {
        // Entering a nested sequence means everything before it is done: its start is safe.
        const finished = part.complete;
        this.latest = later(this.latest, part.latest);
        if (!finished) return;
      }
      this.head++;
    }
  }
}

export class ProgressLeaf {
  done = false;
  position?: string;

  finish(position?: string): void {
    this.done = true;
    this.position = position;
  }
}

/** The later of two RFC 3339 UTC positions (they compare as strings). */
export function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}

/**
 * Items that expire at a time, with one timer for all of them: a binary min-heap on the deadline
 * and a single `setTimeout` armed for the earliest. A thousand long-polls cost a thousand heap
 * entries, not a thousand timers (each a libuv handle and a closure), and cancelling one is O(1):
 * it is only marked, and dropped when it reaches the top or expires (its deadline is at most the
 * longest wait away, so the marks cannot pile up beyond what is waiting anyway).
 */
export class DeadlineQueue<T> {
  readonly #heap: Array<Slot<T>> = [];
  readonly #expire: (items: T[]) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for. */
  #armedFor = Infinity;

  /** `expire` receives the items whose deadline has passed, earliest first. `now` is in milliseconds. */
  constructor(expire: (items: T[]) => void, now: () => number = () => performance.now()) {
    this.#expire = expire;
    this.#now = now;
  }

  /** Adds `item` to expire at `deadline` (same clock as `now`); the returned function cancels it. */
  add(item: T, deadline: number): () => void {
    const slot: Slot<T> = { item, deadline, cancelled: false };
    this.#heap.push(slot);
    this.#up(this.#heap.length - 1);
    if (deadline < this.#armedFor) this.#arm();
    return () => {
      slot.cancelled = true;
    };
  }

  /** Entries in the heap, cancelled ones included until they are dropped. */
  get size(): number {
    return this.#heap.length;
  }

  /** Takes every item out (cancelled ones dropped) and stops the timer. */
  drain(): T[] {
    const items = this.#heap.filter((slot) => !slot.cancelled).sort((a, b) => a.deadline - b.deadline).map((slot) => slot.item);
    this.#heap.length = 0;
    this.#disarm();
    return items;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.#now();
    const due: T[] = [];
    for (let top = this.#heap[0]; top !== undefined && (top.cancelled || top.deadline <= now); top = this.#heap[0]) {
      this.#pop();
      if (!top.cancelled) due.push(top.item);
    }
    this.#arm();
    if (due.length > 0) this.#expire(due);
  }

  #arm(): void {
    // Cancelled entries at the top would only wake the timer for nothing.
    while (this.#heap[0]?.cancelled) this.#pop();
    const top = this.#heap[0];
    if (top === undefined) return this.#disarm();
    if (this.#timer !== undefined && this.#armedFor <= top.deadline) return;
    this.#disarm();
    this.#armedFor = top.deadline;
    // +1: a timer may fire a fraction of a millisecond early by this clock.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, top.deadline - this.#now() + 1));
    this.#timer.unref();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    this.#down(0);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const slot = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.deadline <= slot.deadline) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = slot;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const slot = heap[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]!.deadline < heap[child]!.deadline) child++;
      if (heap[child]!.deadline >= slot.deadline) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = slot;
  }
}

interface Slot<T> {
  readonly item: T;
  readonly deadline: number;
  cancelled: boolean;
}

// Grouping ledger appends that arrive together (lines of one remote script's output).
import type { Ledger, LedgerEvent } from './ledger.ts';

/**
 * Items added in the same I/O turn become one ledger append, so one fsync covers many lines; the
 * remote marker files make an unflushed tail recoverable after a crash.
 */
export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Immediate | null = null;
  constructor(private ledger: Ledger, private make: (items: T[]) => LedgerEvent[]) {}
  add(item: T): void {
    this.items.push(item);
    this.timer ??= setImmediate(() => this.flush());
  }
  flush(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    if (this.items.length) this.ledger.append(...this.make(this.items.splice(0)));
  }
}

// The units of a window that are in use, in the order they were taken. Units free roughly in that
// order, so freeing walks from the oldest and stops at the first unit still in use: O(1) amortised
// per take. A Map did the same job, but deleting from its front leaves holes that every new
// iteration walks past again, and at a few thousand calls a second the walk dominated a take.

export interface HeldUnit {
  /** When the unit may be handed out again (performance.now() time). */
  freeAt: number;
  /** A placeholder for budget another replica may have spent, not a call of this one. */
  readonly seeded: boolean;
  /** Its call's answer is not in yet: freeAt is the latest it may free, not when it will. */
  pending: boolean;
  released: boolean;
}

export class UnitLedger {
  private held: HeldUnit[] = [];
  private head = 0;
  /** Units in use. */
  size = 0;

  add(freeAt: number, seeded = false): HeldUnit {
    const unit: HeldUnit = { freeAt, seeded, pending: !seeded, released: false };
    this.held.push(unit);
    this.size += 1;
    return unit;
  }

  release(unit: HeldUnit): void {
    if (unit.released) return;
    unit.released = true;
    this.size -= 1;
  }

  /**
   * Frees the units whose time has come, oldest first, stopping at the first one still in use;
   * with `everything`, every unit is checked, so one slow call cannot hide those freed after it.
   */
  purge(nowMs: number, everything = false): void {
    const held = this.held;
    for (; this.head < held.length; this.head += 1) {
      const unit = held[this.head] as HeldUnit;
      if (!unit.released && unit.freeAt > nowMs) break;
      this.release(unit);
    }
    if (everything) {
      for (let i = this.head; i < held.length; i += 1) {
        const unit = held[i] as HeldUnit;
        if (unit.freeAt <= nowMs) this.release(unit);
      }
    }
    // Once freed units are most of the array (behind the head, or behind a unit held long), keep
    // only those in use: memory follows the units in use, at amortised O(1) per unit.
    if (held.length > 2 * this.size + 1024) {
      this.held = held.filter((unit, i) => i >= this.head && !unit.released);
      this.head = 0;
    }
  }

  /**
   * When each unit in use frees, oldest first, a pending unit's no later than `pendingAtMost`: one
   * pass into one typed array, since admission reads it for every call while the window is full.
   */
  freeTimes(pendingAtMost = Infinity): Float64Array {
    const times = new Float64Array(this.size);
    // Every unit behind the head is released, so those from it on that are not number `size`.
    let n = 0;
    for (let i = this.head; i < this.held.length; i += 1) {
      const unit = this.held[i] as HeldUnit;
      if (!unit.released) times[n++] = unit.pending ? Math.min(unit.freeAt, pendingAtMost) : unit.freeAt;
    }
    return times;
  }

  /** When the first unit in use frees (Infinity if none): a loop, since a spread into Math.min overflows the stack at a few hundred thousand. */
  earliestFree(): number {
    let earliest = Infinity;
    for (let i = this.head; i < this.held.length; i += 1) {
      const unit = this.held[i] as HeldUnit;
      if (!unit.released && unit.freeAt < earliest) earliest = unit.freeAt;
    }
    return earliest;
  }

  /** The units in use, oldest first. */
  *inUse(): Generator<HeldUnit> {
    for (let i = this.head; i < this.held.length; i += 1) {
      const unit = this.held[i] as HeldUnit;
      if (!unit.released) yield unit;
    }
  }
}

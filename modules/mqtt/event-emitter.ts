/**
 * A small EventEmitter for the MQTT.js-compatible layer (compat.ts), so
 * that `modules/` needs neither Node's `events` nor any npm package.
 *
 * It implements the subset of Node's `EventEmitter` that MQTT.js programs
 * use: `on`/`addListener`, `prependListener`, `once`, `off`/`removeListener`,
 * `removeAllListeners`, `emit`, `listenerCount`, `listeners`, and a no-op
 * `setMaxListeners`. Semantics follow Node: listeners run synchronously in
 * registration order; `emit` iterates over a snapshot, so listeners added
 * or removed during an emit take effect from the next one; an exception
 * thrown by a listener propagates out of `emit` (the remaining listeners
 * of that emit do not run); `emit("error", e)` with no listener throws `e`.
 *
 * Listener arrays are allocated per event name on first use; `emit` copies
 * the array only when more than one listener is registered.
 */

type Listener = (...args: any[]) => void;

/** A `once` wrapper remembers the original for `off`. */
interface OnceWrapper extends Listener {
  listener: Listener;
}

export class EventEmitter {
  private events: Map<string | symbol, Listener[]> = new Map();

  /** Adds `listener` at the end of the list for `event`. */
  on(event: string | symbol, listener: Listener): this {
    return this.add(event, listener, false);
  }

  /** Same as `on`. */
  addListener(event: string | symbol, listener: Listener): this {
    return this.add(event, listener, false);
  }

  /** Adds `listener` at the front of the list for `event`. */
  prependListener(event: string | symbol, listener: Listener): this {
    return this.add(event, listener, true);
  }

  /** Adds a listener removed before its first call. */
  once(event: string | symbol, listener: Listener): this {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper);
      listener.apply(this, args);
    }) as OnceWrapper;
    wrapper.listener = listener;
    return this.add(event, wrapper, false);
  }

  /** Removes the most recently added registration of `listener` (or of its `once` wrapper). */
  off(event: string | symbol, listener: Listener): this {
    const list = this.events.get(event);
    if (list === undefined) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i];
      if (l === listener || (l as OnceWrapper).listener === listener) {
        list.splice(i, 1);
        if (list.length === 0) this.events.delete(event);
        break;
      }
    }
    return this;
  }

  /** Same as `off`. */
  removeListener(event: string | symbol, listener: Listener): this {
    return this.off(event, listener);
  }

  /** Removes every listener of `event`, or of every event when omitted. */
  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) this.events.clear();
    else this.events.delete(event);
    return this;
  }

  /**
   * Calls the listeners of `event` with `args`; returns true when there
   * was at least one. `"error"` without a listener throws its argument.
   */
  emit(event: string | symbol, ...args: any[]): boolean {
    const list = this.events.get(event);
    if (list === undefined) {
      if (event === "error") {
        const error = args[0];
        throw error instanceof Error ? error : new Error(`Unhandled error: ${String(error)}`);
      }
      return false;
    }
    if (list.length === 1) {
      list[0].apply(this, args);
      return true;
    }
    const snapshot = list.slice();
    for (const listener of snapshot) listener.apply(this, args);
    return true;
  }

  /** Number of listeners of `event`. */
  listenerCount(event: string | symbol): number {
    return this.events.get(event)?.length ?? 0;
  }

  /** A copy of the listeners of `event` (the originals for `once`). */
  listeners(event: string | symbol): Listener[] {
    const list = this.events.get(event);
    if (list === undefined) return [];
    return list.map((l) => (l as OnceWrapper).listener ?? l);
  }

  /** Accepted for compatibility; there is no listener limit. */
  setMaxListeners(_n: number): this {
    return this;
  }

  private add(event: string | symbol, listener: Listener, front: boolean): this {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    let list = this.events.get(event);
    if (list === undefined) {
      list = [];
      this.events.set(event, list);
    }
    if (front) list.unshift(listener);
    else list.push(listener);
    return this;
  }
}

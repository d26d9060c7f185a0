/**
 * An undo stack for create operations (a plugin's ADD, a backend's createEndpoint): each step
 * registers how to take itself back, and a failure runs the stack in reverse so that nothing
 * it made is left behind. Undo failures are appended to the error, never thrown over it: the
 * caller reports why the operation failed. OS-neutral, so plugins and backends share it.
 */

export class UndoStack {
  private readonly steps: Array<{ what: string; undo: () => Promise<void> }> = [];
  /** Messages of undo steps that failed, for the error's details. */
  readonly failures: string[] = [];

  push(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Run every registered undo, newest first; never throws. */
  async unwind(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.undo();
      } catch (e) {
        this.failures.push(`undo ${step.what}: ${(e as Error).message}`);
      }
    }
  }

  /** Run `body`; on failure unwind and rethrow the original error. */
  async guard<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      await this.unwind();
      if (this.failures.length && e instanceof Error) {
        e.message += ` (rollback also failed: ${this.failures.join('; ')})`;
      }
      throw e;
    }
  }
}

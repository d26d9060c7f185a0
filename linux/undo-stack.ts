/**
 * The undo stack of a create operation: each step registers how to take itself back, and a
 * failure runs the registered undos newest first before the error is rethrown, so a failed
 * createEndpoint leaves nothing behind. Undo failures are appended to the error's message, never
 * thrown over it. (plugins/sdk/undo.ts is the same idea one layer up; linux/ may not import it.)
 */
export class UndoStack {
  private readonly steps: Array<{ what: string; undo: () => Promise<void> }> = [];

  push(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Run `body`; on failure undo every registered step and rethrow the original error. */
  async guard<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      const failures: string[] = [];
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        try {
          await step.undo();
        } catch (undoError) {
          failures.push(`undo ${step.what}: ${(undoError as Error).message}`);
        }
      }
      if (failures.length && e instanceof Error)
        e.message += ` (rollback also failed: ${failures.join('; ')})`;
      throw e;
    }
  }
}

/**
 * What a checkpoint call would do, step by step. Every call builds its plan first and then carries
 * it out; with `dryRun` the plan is returned as is and nothing on disk or on a remote changes.
 */

export type PlanStep =
  | { kind: 'create'; path: string; detail?: string }
  | { kind: 'write'; path: string; detail?: string }
  | { kind: 'hash'; path: string }
  | { kind: 'upload'; paths: string[]; remote: string }
  | { kind: 'download'; paths: string[]; remote: string }
  | { kind: 'commit'; message: string; files: string[] }
  | { kind: 'tag'; name: string; message: string; replaces?: boolean }
  | { kind: 'push'; url: string; refs: string[] }
  | { kind: 'checkout'; path: string; rev: string };

export interface CheckpointPlan {
  /** The method the plan belongs to, e.g. `uploadModelCheckpoint`. */
  action: string;
  /** The model repo (or download destination) it acts on. */
  path: string;
  steps: PlanStep[];
}

export class PlanBuilder {
  private readonly steps: PlanStep[] = [];

  constructor(
    private readonly action: string,
    private readonly target: string,
  ) {}

  add(step: PlanStep): this {
    this.steps.push(step);
    return this;
  }

  build(): CheckpointPlan {
    return { action: this.action, path: this.target, steps: [...this.steps] };
  }
}

/** The steps of one kind, for callers that show a summary ("would upload 3 paths"). */
export function stepsOf<K extends PlanStep['kind']>(
  plan: CheckpointPlan,
  kind: K,
): Extract<PlanStep, { kind: K }>[] {
  return plan.steps.filter((s): s is Extract<PlanStep, { kind: K }> => s.kind === kind);
}

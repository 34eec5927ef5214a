import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { deployTool } from './deploy-support.js';
import { run } from './support.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}
interface Job {
  strategy?: { matrix?: { member?: string[] } };
  env?: Record<string, string>;
  steps: Step[];
}

/** What a job's steps did locally: one line per step run, and the `uses` steps left to GitHub. */
export interface WorkflowRun {
  ran: string[];
  actions: string[];
  /** Steps left out on purpose (`skipSteps`), by member. */
  skipped: string[];
}

/** actionlint on a project's workflow files; throws with its findings. */
export function actionlint(dir: string): void {
  run(deployTool('actionlint'), ['-no-color', '.github/workflows/ci.yml'], dir);
}

/**
 * Runs one job of `.github/workflows/ci.yml` as the runner would: each `run` step in order, with bash -e,
 * in the job's working directory, with the job's env (values in `env` replace the workflow's own, so the
 * services of this machine stand in for the service containers), once per `member` of its matrix.
 * `uses` steps (checkout, setup-uv) are what this machine already has and are listed, not run. An
 * expression other than `matrix.member` is refused, so a step that could not run the same way fails here.
 * Steps named in `skipSteps` are reported as skipped; an unknown name there is an error.
 */
export function runWorkflowJob(
  dir: string,
  jobName: string,
  env: Record<string, string>,
  skipSteps: string[] = [],
): WorkflowRun {
  const workflow = parseYaml(readFileSync(path.join(dir, '.github/workflows/ci.yml'), 'utf8')) as {
    jobs: Record<string, Job>;
  };
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`ci.yml has no job ${jobName}`);
  const members = job.strategy?.matrix?.member ?? ['.'];
  const unknown = skipSteps.filter((name) => !job.steps.some((step) => step.name === name));
  if (unknown.length > 0) throw new Error(`ci.yml job ${jobName} has no step ${unknown.join(', ')}`);
  const result: WorkflowRun = { ran: [], actions: [], skipped: [] };
  for (const member of members) {
    for (const step of job.steps) {
      if (step.uses) {
        if (member === members[0]) result.actions.push(step.uses);
        continue;
      }
      if (step.name && skipSteps.includes(step.name)) {
        result.skipped.push(`${member}: ${step.name}`);
        continue;
      }
      const command = (step.run ?? '').replace(/\$\{\{ matrix\.member \}\}/g, member);
      if (command.includes('${{')) throw new Error(`step "${step.name}" has an expression: ${command}`);
      run('bash', ['-e', '-c', command], path.join(dir, member), { ...job.env, ...env });
      result.ran.push(`${member}: ${command}`);
    }
  }
  return result;
}

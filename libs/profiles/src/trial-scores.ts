// trial-scores.ts: from the per-trial head scores of the probes to a profile's matrix: the mean
// over the trials answered correctly, L1-normalised (HEADKV.md section 2).
import { ProfileError } from './profile-error';

export interface TrialScores {
  // n_layers * n_heads, layer-major: the probe's totals over the trial's decode steps.
  scores: ArrayLike<number>;
  correct: boolean;
}

export function aggregateTrialScores(
  trials: readonly TrialScores[],
  nLayers: number,
  nHeads: number,
): { scores: number[][]; counted: number } {
  const size = nLayers * nHeads;
  const sums = new Float64Array(size);
  let counted = 0;
  trials.forEach((trial, index) => {
    if (trial.scores.length !== size) {
      throw new ProfileError(
        `trial ${index}: ${trial.scores.length} head scores, expected n_layers * n_heads = ${size}`,
      );
    }
    if (!trial.correct) return;
    counted++;
    for (let i = 0; i < size; i++) sums[i] += trial.scores[i];
  });
  if (counted === 0) {
    throw new ProfileError(
      `none of the ${trials.length} probe trials was answered correctly: no head scores`,
    );
  }
  let total = 0;
  for (let i = 0; i < size; i++) total += sums[i] / counted;
  if (!(total > 0)) {
    throw new ProfileError(`the ${counted} correctly answered trials gave every head a zero score`);
  }
  const scores: number[][] = [];
  for (let layer = 0; layer < nLayers; layer++) {
    const row: number[] = [];
    for (let head = 0; head < nHeads; head++) row.push(sums[layer * nHeads + head] / counted / total);
    scores.push(row);
  }
  return { scores, counted };
}

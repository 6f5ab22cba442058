// profile-error.ts: every bad profile, reference file or probe setting is reported as one
// ProfileError whose message names the file (or source) and the field.
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

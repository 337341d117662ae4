// Moved to middleware/_shared/ (profile() shares debug()'s trust rules, PIN and secret).
export * from '../_shared/pin.js';

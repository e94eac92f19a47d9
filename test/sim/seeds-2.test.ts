import { describeSeedRange } from './seed-range.js';

describeSeedRange(251, 250);

import { describeSeedRange } from './seed-range.js';

describeSeedRange(1, 250);

import { describeSeedRange } from './seed-range.js';

describeSeedRange(501, 250);

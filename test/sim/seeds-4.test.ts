import { describeSeedRange } from './seed-range.js';

describeSeedRange(751, 250);

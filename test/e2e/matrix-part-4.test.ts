import { describeOptionMatrix } from './matrix-suite.js';

describeOptionMatrix(4);

import { dialectSuite } from './suite.js';

dialectSuite('hosted');

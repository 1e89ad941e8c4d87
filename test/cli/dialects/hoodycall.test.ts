import { dialectSuite } from './suite.js';

dialectSuite('hoodycall');

import { dialectSuite } from './suite.js';

dialectSuite('piping-server');

import { describe } from 'vitest';
import { start } from '../../examples/hono-refunds/server.js';
import { refundsSmokeTest } from './refunds-flow.js';

describe('examples/hono-refunds', () => {
  refundsSmokeTest(start);
});

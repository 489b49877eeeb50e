import { describe } from 'vitest';
import { start } from '../../examples/fastify-refunds/server.js';
import { refundsSmokeTest } from './refunds-flow.js';

describe('examples/fastify-refunds', () => {
  refundsSmokeTest(start);
});

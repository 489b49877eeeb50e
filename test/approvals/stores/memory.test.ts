import { MemoryApprovalStore } from '../../../src/approvals/stores/memory-store.js';
import { approvalStoreContract } from './contract.js';

approvalStoreContract('memory', async () => {
  const store = new MemoryApprovalStore();
  await store.init();
  return {
    store,
    twin: async () => store,
    dispose: () => store.close(),
  };
});

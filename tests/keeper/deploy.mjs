// tests/keeper/deploy.mjs: compile tests/e2e/contracts and deploy two Counters to an anvil node with
// anvil's second dev account (so the keeper's account, the first, starts at nonce 0).  Mines with
// evm_mine itself, so it also works on `anvil --no-mining`.  Prints one JSON object:
//   {"counter": "0x...", "counter2": "0x...", "abi": [...Counter's ABI...]}
//
//   node tests/keeper/deploy.mjs RPC_URL
import { createRequire } from 'node:module';
import { compileAll } from '../e2e/lib/chain.mjs';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { ethers } = require('ethers');

const DEPLOYER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

const url = process.argv[2];
if (!url) {
  console.error('usage: node tests/keeper/deploy.mjs RPC_URL');
  process.exit(2);
}
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 100 });
const signer = new ethers.NonceManager(new ethers.Wallet(DEPLOYER_KEY, provider));
const compiled = compileAll();
const c = compiled.Counter;

async function deployOne() {
  const f = new ethers.ContractFactory(c.abi, c.bytecode, signer);
  const contract = await f.deploy();
  const tx = contract.deploymentTransaction();
  for (let i = 0; i < 200; i++) {
    const r = await provider.getTransactionReceipt(tx.hash);
    if (r) {
      if (r.status !== 1) throw new Error(`deployment ${tx.hash} failed`);
      return r.contractAddress;
    }
    await provider.send('evm_mine', []); // harmless with automine: one more empty block
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`deployment ${tx.hash} was not mined`);
}

try {
  const counter = await deployOne();
  const counter2 = await deployOne();
  process.stdout.write(JSON.stringify({ counter, counter2, abi: c.abi }) + '\n');
  provider.destroy();
} catch (e) {
  console.error(`deploy: ${e.message}`);
  process.exit(1);
}

// contrib/local-chain.mjs: `make run`'s sample contract.  Compiles tests/e2e/contracts/Counter.sol
// with the npm solc package and deploys it to the chain at RPC_URL (argv[2]) from anvil's first dev
// account; prints the contract's address alone.  Uses the node modules of tests/e2e (npm ci there).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { ethers } = require('ethers');
const { compileAll, deploy } = await import('../tests/e2e/lib/chain.mjs');

const url = process.argv[2] || 'http://127.0.0.1:8545';
// anvil's well-known first development key (public test key, funded on every anvil chain)
const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
const signer = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
const counter = await deploy(compileAll(), 'Counter', signer);
console.log(await counter.getAddress());
provider.destroy();

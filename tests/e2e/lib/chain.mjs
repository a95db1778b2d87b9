// tests/e2e/lib/chain.mjs: compiles the stand-in contracts of tests/e2e/contracts with the npm solc
// package and deploys them to the anvil chain the test runs against.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');
const { ethers } = require('ethers');

const DIR = new URL('../contracts/', import.meta.url);

/** Compiles every contracts/*.sol: {Name: {abi, bytecode}}; throws with solc's errors. */
export function compileAll() {
  const sources = {};
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.sol'))) {
    sources[f] = { content: readFileSync(new URL(f, DIR), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const res = {};
  for (const file of Object.keys(out.contracts)) {
    for (const [name, c] of Object.entries(out.contracts[file])) {
      res[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
    }
  }
  return res;
}

/** Deploys NAME from COMPILED with SIGNER; resolves to the ethers.Contract once mined. */
export async function deploy(compiled, name, signer) {
  const c = compiled[name];
  if (!c) throw new Error(`no compiled contract ${name}`);
  const f = new ethers.ContractFactory(c.abi, c.bytecode, signer);
  const contract = await f.deploy();
  await contract.waitForDeployment();
  return contract;
}

export const solcVersion = () => solc.version();

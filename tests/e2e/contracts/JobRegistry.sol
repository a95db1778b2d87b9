// SPDX-License-Identifier: MIT
// JobRegistry.sol: a stand-in for TriggerX's JobRegistry with the ABI fragments sdk-triggerx@0.1.38
// uses (createJob, deleteJob, the JobCreated event) and the real packed job id:
//   jobId = (chainid << 224) | (block.timestamp << 160) | ++counter
// Not the real contract: no proxy, no upgrades, no job storage beyond the owner.
pragma solidity ^0.8.20;

contract JobRegistry {
    uint256 private jobCounter;
    mapping(uint256 => address) private owners;

    event JobCreated(uint256 indexed jobId, address indexed jobOwner, bytes32 jobHash, uint256 timestamp);
    event JobDeleted(uint256 indexed jobId, address indexed jobOwner, uint256 timestamp);

    function createJob(string calldata jobName, uint8 jobType, uint256 timeFrame, address targetContract,
                       bytes calldata data) external returns (uint256 jobId) {
        require(bytes(jobName).length > 0, "empty job name");
        require(jobType >= 1 && jobType <= 7, "bad job type");
        require(timeFrame > 0, "zero time frame");
        jobId = (block.chainid << 224) | (block.timestamp << 160) | ++jobCounter;
        owners[jobId] = msg.sender;
        emit JobCreated(jobId, msg.sender, keccak256(abi.encode(jobName, jobType, timeFrame, targetContract, data)),
                        block.timestamp);
    }

    function deleteJob(uint256 jobId) external {
        require(owners[jobId] == msg.sender, "not the job owner");
        delete owners[jobId];
        emit JobDeleted(jobId, msg.sender, block.timestamp);
    }

    function getJobOwner(uint256 jobId) external view returns (address) {
        return owners[jobId];
    }

    function getJobCounter() external view returns (uint256) {
        return jobCounter;
    }
}

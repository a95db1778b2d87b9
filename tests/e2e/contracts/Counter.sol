// SPDX-License-Identifier: MIT
// Counter.sol: the target of the test jobs (increment(uint256)) and the source of their trigger
// event (Incremented).
pragma solidity ^0.8.20;

contract Counter {
    uint256 public count;

    event Incremented(address indexed by, uint256 amount, uint256 count);

    function increment(uint256 by) external {
        count += by;
        emit Incremented(msg.sender, by, count);
    }
}

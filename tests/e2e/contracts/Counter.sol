// SPDX-License-Identifier: MIT
// Counter.sol: the target of the test jobs (increment(uint256); incrementTo(uint256,uint256) and
// boom() revert, for the keeper's failure paths) and the source of their trigger event (Incremented).
pragma solidity ^0.8.20;

contract Counter {
    uint256 public count;

    event Incremented(address indexed by, uint256 amount, uint256 count);

    error TooFar(uint256 count, uint256 limit);

    function increment(uint256 by) external {
        count += by;
        emit Incremented(msg.sender, by, count);
    }

    /// Adds BY unless the count would pass LIMIT: reverts with the custom error TooFar.
    function incrementTo(uint256 by, uint256 limit) external {
        if (count + by > limit) revert TooFar(count, limit);
        count += by;
        emit Incremented(msg.sender, by, count);
    }

    /// Always reverts with Error(string) "Counter: boom".
    function boom() external pure {
        revert("Counter: boom");
    }
}

// SPDX-License-Identifier: MIT
// GasRegistry.sol: a stand-in for TriggerX's GasRegistry with what sdk-triggerx@0.1.38 calls:
// depositETH(uint256) payable, getBalance(address), withdrawETHBalance(uint256).
pragma solidity ^0.8.20;

contract GasRegistry {
    mapping(address => uint256) public balances;

    event ETHDeposited(address indexed user, uint256 ethAmount);
    event ETHWithdrawn(address indexed owner, uint256 amount, string reason);

    function depositETH(uint256 ethAmount) external payable {
        require(ethAmount > 0 && msg.value == ethAmount, "value must equal ethAmount");
        balances[msg.sender] += ethAmount;
        emit ETHDeposited(msg.sender, ethAmount);
    }

    function getBalance(address user) external view returns (uint256) {
        return balances[user];
    }

    function withdrawETHBalance(uint256 ethAmount) external {
        require(balances[msg.sender] >= ethAmount, "insufficient balance");
        balances[msg.sender] -= ethAmount;
        (bool ok, ) = payable(msg.sender).call{value: ethAmount}("");
        require(ok, "transfer failed");
        emit ETHWithdrawn(msg.sender, ethAmount, "user withdrawal");
    }
}

"""Cores: stimulus -> shared feature map (conv stacks, factorised transformer, pretrained transfer, the
published DorsalNet)."""

from cortexkit.encoding.cores.base import CORES, Core
from cortexkit.encoding.cores.conv import Conv2dCore, Conv3dCore
from cortexkit.encoding.cores.dorsalnet_mineault import MineaultDorsalNetCore
from cortexkit.encoding.cores.transfer import TransferCore
from cortexkit.encoding.cores.transformer import FactorisedTransformerCore

__all__ = ["Core", "Conv2dCore", "Conv3dCore", "MineaultDorsalNetCore", "FactorisedTransformerCore", "TransferCore", "CORES"]

"""Cores: stimulus -> shared feature map (conv stacks, factorised transformer, pretrained transfer)."""

from cortexkit.encoding.cores.base import Core
from cortexkit.encoding.cores.conv import Conv2dCore, Conv3dCore
from cortexkit.encoding.cores.transfer import TransferCore
from cortexkit.encoding.cores.transformer import FactorisedTransformerCore

CORES = {"conv2d": Conv2dCore, "conv3d": Conv3dCore, "transformer": FactorisedTransformerCore, "transfer": TransferCore}

__all__ = ["Core", "Conv2dCore", "Conv3dCore", "FactorisedTransformerCore", "TransferCore", "CORES"]

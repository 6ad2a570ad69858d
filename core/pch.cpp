// Translation unit that carries the precompiled LibTorch header (see core/pch.h).

using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>
/// Mixed precision by hand (TorchSharp has no autocast): when <see cref="Compute"/> is set (bf16/fp16, CUDA only),
/// every projection runs its matmul in that type on casts of the fp32 master weights; norms, softmax statistics and
/// the loss stay in fp32. Null (the default) computes everything in the parameters' dtype.
/// </summary>
public sealed class Precision
{
    public ScalarType? Compute { get; set; }

    public Tensor Linear(Linear layer, Tensor x) =>
        Compute is { } t
            ? nn.functional.linear(x.to_type(t), layer.weight!.to_type(t))
            : layer.forward(x);
}

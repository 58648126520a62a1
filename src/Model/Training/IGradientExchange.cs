using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// The seam for data parallelism: called after backward with every parameter gradient, in a fixed order; an
/// implementation averages them in place across replicas. The default (<see cref="LocalGradients"/>) does nothing.
/// </summary>
public interface IGradientExchange
{
    void AllReduce(IReadOnlyList<Tensor> grads);
}

/// <summary>One replica: gradients stay as they are.</summary>
public sealed class LocalGradients : IGradientExchange
{
    public static readonly LocalGradients Instance = new();
    public void AllReduce(IReadOnlyList<Tensor> grads) { }
}

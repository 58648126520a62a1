namespace ActorLab.Actors.DataPlane;

/// <summary>
/// What the ranks agree on at each step, carried in every frame: the strongest stop asked (the max, as
/// <see cref="ActorLab.Model.Training.RunStop"/> orders them) and whether any rank asked for the 2-hop phase.
/// </summary>
public readonly record struct RingFlags(int Stop, bool TwoHop)
{
    public RingFlags Merge(RingFlags other) => new(Math.Max(Stop, other.Stop), TwoHop || other.TwoHop);
}

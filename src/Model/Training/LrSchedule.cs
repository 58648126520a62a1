namespace ActorLab.Model.Training;

public enum DecayShape { Cosine, Linear }

/// <summary>
/// Warmup then decay, as HF get_cosine/linear_schedule_with_warmup: step k (0-based) trains with lr * Factor(k);
/// Factor rises linearly from 0 over the warmup steps, then decays to 0 at num_training_steps (cosine: half a
/// period). Step 0 therefore has lr 0, as in the reference.
/// </summary>
public sealed record LrSchedule(DecayShape Shape, long WarmupSteps, long TrainingSteps)
{
    public double Factor(long k)
    {
        if (k < WarmupSteps) return (double)k / Math.Max(1, WarmupSteps);
        var span = Math.Max(1, TrainingSteps - WarmupSteps);
        return Shape switch
        {
            DecayShape.Linear => Math.Max(0.0, (double)(TrainingSteps - k) / span),
            _ => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (double)(k - WarmupSteps) / span))),
        };
    }
}

namespace ActorLab.Model.Qa;

/// <summary>
/// One question inside a packed sequence. Answer tokens are positions [AnswerStart, AnswerEnd) of sequence
/// <see cref="Sequence"/>; <see cref="Truncated"/> means the sequence ended before the answer's EOS, and then
/// those positions carry no labels (the reference drops an answer with no end).
/// </summary>
public readonly record struct QuestionInfo(
    int Sequence,
    int AnswerStart,
    int AnswerEnd,
    byte Order,
    byte Subject,
    EvalMode Mode,
    bool Truncated);

/// <summary>
/// A batch of packed, labelled training sequences, as flat row-major arrays ready for a [B, T] tensor.
/// Labels follow the HF convention: aligned with <see cref="InputIds"/>, equal to the input token at answer
/// positions and <see cref="Ignore"/> (-100) everywhere else; the loss predicts labels[t] from logits[t-1].
/// </summary>
public sealed class TokenBatch
{
    public const long Ignore = -100;

    public TokenBatch(int batchSize, int seqLen, long[] inputIds, long[] labels, QuestionInfo[] questions)
    {
        if (inputIds.Length != batchSize * seqLen || labels.Length != batchSize * seqLen)
            throw new ArgumentException($"expected {batchSize}x{seqLen} ids and labels");
        BatchSize = batchSize;
        SeqLen = seqLen;
        InputIds = inputIds;
        Labels = labels;
        Questions = questions;
    }

    public int BatchSize { get; }
    public int SeqLen { get; }
    public long[] InputIds { get; }
    public long[] Labels { get; }
    public QuestionInfo[] Questions { get; }
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorLab.Model.Common;
using Microsoft.ML.Tokenizers;

namespace ActorLab.Model.Qa;

/// <summary>
/// The reference tokenizer (SPEC 2): byte-level BPE with the GPT-2 pre-tokenizer, special tokens
/// <c>&lt;|endoftext|&gt;</c> (id 0, both BOS and EOS) and <c>&lt;unk&gt;</c> (id 1), vocab 3000 by default.
/// Trained here (no .NET BPE trainer exists), saved as GPT-2 <c>vocab.json</c> + <c>merges.txt</c> (+ an HF
/// <c>tokenizer.json</c> and small configs), and loaded back through Microsoft.ML.Tokenizers' byte-level
/// <see cref="BpeTokenizer"/> (GPT-2 regex pre-tokenizer), which does the encoding.
/// </summary>
public sealed class QaTokenizer
{
    public const string EndOfText = "<|endoftext|>";
    public const string Unknown = "<unk>";
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string HfTokenizerFile = "tokenizer.json";
    public const string ConfigFile = "tokenizer_config.json";
    public const string SpecialTokensFile = "special_tokens_map.json";

    readonly Tokenizer _encoder;
    readonly string[] _idToToken;
    readonly byte[][] _idToBytes;
    readonly List<(string Left, string Right)> _merges;

    QaTokenizer(string[] idToToken, List<(string, string)> merges, Tokenizer encoder)
    {
        _idToToken = idToToken;
        _merges = merges;
        _encoder = encoder;
        EosId = Array.IndexOf(idToToken, EndOfText);
        UnknownId = Array.IndexOf(idToToken, Unknown);
        _idToBytes = new byte[idToToken.Length][];
        var buf = new List<byte>();
        for (int i = 0; i < idToToken.Length; i++)
        {
            buf.Clear();
            if (i == EosId || i == UnknownId || !ByteLevel.TryAppendBytes(idToToken[i], buf))
                _idToBytes[i] = Encoding.UTF8.GetBytes(idToToken[i]); // special tokens decode to their text
            else
                _idToBytes[i] = buf.ToArray();
        }
    }

    public int EosId { get; }
    public int BosId => EosId;
    public int UnknownId { get; }
    public int VocabSize => _idToToken.Length;

    /// <summary>The token string (byte-level form) of an id.</summary>
    public string TokenOf(int id) => _idToToken[id];

    /// <summary>
    /// Trains a tokenizer on <paramref name="texts"/> (e.g. <see cref="QaCorpus"/>). Special tokens inside a text
    /// are cut out first; the rest is split by the GPT-2 regex and counted. Deterministic for the same texts.
    /// </summary>
    /// <summary>Largest vocabulary a tokenizer is trained to (embedding and head rows grow with it).</summary>
    public const int MaxVocabSize = 1_000_000;

    public static QaTokenizer Train(IEnumerable<string> texts, int vocabSize = 3000)
    {
        if (vocabSize > MaxVocabSize)
            throw new UserInputException($"--vocab-size {vocabSize} is too large: at most {MaxVocabSize:N0}.");
        const int minimum = 2 + 256;
        if (vocabSize < minimum)
            throw new UserInputException($"--vocab-size {vocabSize} is too small: a byte-level BPE needs at least {minimum} (2 special tokens + 256 bytes).");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var regex = ByteLevel.Gpt2Regex();
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var text in texts)
        {
            foreach (var segment in text.Split(EndOfText))
            {
                foreach (var m in regex.EnumerateMatches(segment))
                {
                    var word = segment.AsSpan(m.Index, m.Length);
                    if (lookup.TryGetValue(word, out var c)) lookup[word] = c + 1;
                    else lookup[word] = 1;
                }
            }
        }
        var (vocab, merges) = BpeTrainer.Train(counts, [EndOfText, Unknown], vocabSize);
        return FromVocab(vocab.ToArray(), merges);
    }

    static QaTokenizer FromVocab(string[] idToToken, List<(string, string)> merges)
    {
        return new QaTokenizer(idToToken, merges, CreateEncoder(idToToken, merges));
    }

    static Tokenizer CreateEncoder(string[] idToToken, List<(string Left, string Right)> merges) =>
        CreateEncoder(idToToken, new BpeOptions(idToToken.Select((t, i) => new KeyValuePair<string, int>(t, i)))
        {
            Merges = merges.Select(m => $"{m.Left} {m.Right}").ToArray(),
        });

    static Tokenizer CreateEncoder(string[] idToToken, BpeOptions options)
    {
        var special = new Dictionary<string, int>
        {
            [EndOfText] = Array.IndexOf(idToToken, EndOfText),
            [Unknown] = Array.IndexOf(idToToken, Unknown),
        };
        options.SpecialTokens = special;
        options.PreTokenizer = new RegexPreTokenizer(ByteLevel.Gpt2Regex(), special);
        options.UnknownToken = Unknown;
        options.ByteLevel = true;
        return BpeTokenizer.Create(options);
    }

    /// <summary>Token ids of <paramref name="text"/>; <c>&lt;|endoftext|&gt;</c> in the text becomes <see cref="EosId"/>.</summary>
    public int[] Encode(string text) => _encoder.EncodeToIds(text).ToArray();

    /// <summary>The text of <paramref name="ids"/> (special tokens written out), exact inverse of <see cref="Encode"/>.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_idToBytes.Length) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (size {VocabSize})");
            bytes.AddRange(_idToBytes[id]);
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    public string Decode(ReadOnlySpan<long> ids)
    {
        var ints = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++) ints[i] = checked((int)ids[i]);
        return Decode(ints);
    }

    // ---- files ----

    /// <summary>Writes vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json (each atomically).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllBytes(Path.Combine(dir, VocabFile), VocabJson(_idToToken));
        AtomicFile.WriteAllText(Path.Combine(dir, MergesFile), MergesText(_merges));
        AtomicFile.WriteAllText(Path.Combine(dir, HfTokenizerFile), HfTokenizerJson());
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), new JsonObject
        {
            ["tokenizer_class"] = "GPT2TokenizerFast",
            ["model_max_length"] = 512,
            ["add_prefix_space"] = false,
            ["bos_token"] = EndOfText,
            ["eos_token"] = EndOfText,
            ["unk_token"] = Unknown,
        }.ToJsonString(JsonOpts));
        AtomicFile.WriteAllText(Path.Combine(dir, SpecialTokensFile), new JsonObject
        {
            ["bos_token"] = EndOfText,
            ["eos_token"] = EndOfText,
            ["unk_token"] = Unknown,
        }.ToJsonString(JsonOpts));
    }

    /// <summary>Loads a tokenizer folder (vocab.json + merges.txt); bad folders are a <see cref="UserInputException"/>.</summary>
    public static QaTokenizer Load(string dir)
    {
        PathChecks.InputFolder("--tokenizer", dir, "tokenizer folder");
        var vocabPath = Path.Combine(dir, VocabFile);
        var mergesPath = Path.Combine(dir, MergesFile);
        foreach (var p in new[] { vocabPath, mergesPath })
        {
            if (!File.Exists(p)) throw new UserInputException($"Tokenizer folder '{dir}' has no {Path.GetFileName(p)} (expected vocab.json and merges.txt from `actorlab tokenizer train`).");
            PathChecks.InputFile("--tokenizer", p, "tokenizer file");
        }

        var vocabBytes = File.ReadAllBytes(vocabPath);
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabBytes) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserInputException($"'{vocabPath}' is not a JSON object of token -> id: {FileErrors.Json(e)}"); }
        var idToToken = new string[vocab.Count];
        foreach (var (tok, id) in vocab)
        {
            if ((uint)id >= (uint)idToToken.Length || idToToken[id] != null)
                throw new UserInputException($"'{vocabPath}': ids must be 0..{vocab.Count - 1} without gaps or repeats (a token has id {id}).");
            idToToken[id] = tok;
        }
        if (!vocab.ContainsKey(EndOfText)) throw new UserInputException($"'{vocabPath}' has no {EndOfText} token (needed as BOS/EOS).");
        if (!vocab.ContainsKey(Unknown)) throw new UserInputException($"'{vocabPath}' has no {Unknown} token.");

        var merges = new List<(string, string)>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNo++;
            if (line.StartsWith("#version") || line.Length == 0) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || !vocab.ContainsKey(parts[0]) || !vocab.ContainsKey(parts[1]) || !vocab.ContainsKey(parts[0] + parts[1]))
                throw new UserInputException($"'{mergesPath}' line {lineNo} is not a merge of two vocabulary tokens into a vocabulary token.");
            merges.Add((parts[0], parts[1]));
        }
        // Encoding goes through Microsoft.ML.Tokenizers reading the saved files themselves.
        return new QaTokenizer(idToToken, merges, CreateEncoder(idToToken, new BpeOptions(vocabPath, mergesPath)));
    }

    static readonly JsonSerializerOptions JsonOpts = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static byte[] VocabJson(string[] idToToken)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            for (int i = 0; i < idToToken.Length; i++) w.WriteNumber(idToToken[i], i);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static string MergesText(List<(string Left, string Right)> merges)
    {
        var sb = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in merges) sb.Append(l).Append(' ').Append(r).Append('\n');
        return sb.ToString();
    }

    /// <summary>The HF `tokenizers` fast format (what `Tokenizer.from_file` / `PreTrainedTokenizerFast` read).</summary>
    string HfTokenizerJson()
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _idToToken.Length; i++) vocab[_idToToken[i]] = i;
        var merges = new JsonArray();
        foreach (var (l, r) in _merges) merges.Add($"{l} {r}");
        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        };
        JsonObject ByteLevelPart(bool prefix, bool trim) => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = prefix, ["trim_offsets"] = trim, ["use_regex"] = true,
        };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(EosId, EndOfText), Added(UnknownId, Unknown)),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevelPart(false, true),
            ["post_processor"] = ByteLevelPart(false, false),
            ["decoder"] = ByteLevelPart(true, true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = Unknown, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}

using System.Text.RegularExpressions;

namespace ActorLab.Model.Qa;

/// <summary>
/// GPT-2 byte-level conventions shared by the BPE trainer, the saved vocab files and the fast decoder:
/// every UTF-8 byte maps to one printable character (space -> 'Ġ'), and text is split into pre-tokens by the
/// GPT-2 regex before BPE, so merges never cross a pre-token boundary.
/// </summary>
public static partial class ByteLevel
{
    /// <summary>The GPT-2 pre-tokenizer pattern (the one HF `ByteLevel(use_regex=True)` uses).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2Pattern)]
    public static partial Regex Gpt2Regex();

    /// <summary>Byte -> printable character, as GPT-2's bytes_to_unicode().</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Printable character -> byte (-1 where the character is not a byte-level character).</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    static short[] BuildCharToByte()
    {
        var inv = new short[512];
        Array.Fill(inv, (short)-1);
        for (int b = 0; b < 256; b++) inv[ByteToChar[b]] = (short)b;
        return inv;
    }

    /// <summary>The byte-level string of a piece of text (UTF-8 bytes mapped to printable characters).</summary>
    public static string Encode(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Appends the raw bytes of a byte-level token string; false if it holds a non byte-level character.</summary>
    public static bool TryAppendBytes(string token, List<byte> into)
    {
        foreach (var c in token)
        {
            if (c >= CharToByte.Length || CharToByte[c] < 0) return false;
            into.Add((byte)CharToByte[c]);
        }
        return true;
    }
}

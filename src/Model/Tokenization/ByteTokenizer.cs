using System.Text;

namespace MegaFlow.Model.Tokenization;

/// <summary>
/// Byte-level tokenizer: token ids 0–255 are the UTF-8 bytes themselves, and a few special tokens
/// follow. Chosen because it needs no vocabulary file (nothing to download or version apart from this
/// class), encodes any text, and round-trips exactly: decode(encode(s)) == s for every string, and a
/// token boundary falls between any two bytes, so a stop string always ends on a token boundary and
/// the sampled token ids can be cut exactly where the text is cut. The price is longer sequences
/// (one token per byte), acceptable for the small policies this project trains.
/// </summary>
public static class ByteTokenizer
{
    /// <summary>End of a document: the completions API's end of text, and the first token of every prompt.</summary>
    public const int EndOfText = 256;

    /// <summary>Starts a chat turn (followed by the role's name and a newline).</summary>
    public const int TurnStart = 257;

    /// <summary>Ends a chat turn: the chat API stops generating at it.</summary>
    public const int TurnEnd = 258;

    public const int VocabularySize = 259;

    public static bool IsSpecial(int id) => id >= 256;

    public static string SpecialName(int id) => id switch
    {
        EndOfText => "<|endoftext|>",
        TurnStart => "<|start|>",
        TurnEnd => "<|end|>",
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "not a special token id"),
    };

    public static int[] Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <summary>The text of the byte tokens; special tokens are skipped (they are structure, not text).</summary>
    public static string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id is < 0 or >= VocabularySize) throw new ArgumentOutOfRangeException(nameof(ids), id, "token id outside the vocabulary");
            if (!IsSpecial(id)) bytes.Add((byte)id);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The bytes a token stands for (empty for special tokens), as OpenAI's logprobs "bytes" field reports them.</summary>
    public static byte[] Bytes(int id) => IsSpecial(id) ? [] : [(byte)id];

    /// <summary>
    /// A display string for one token: the character for ASCII bytes, the special token's name, and
    /// for a byte of a multi-byte UTF-8 character (not text on its own) "\xNN".
    /// </summary>
    public static string Display(int id) => id switch
    {
        >= 256 => SpecialName(id),
        < 0x80 => ((char)id).ToString(),
        _ => $"\\x{id:x2}",
    };
}

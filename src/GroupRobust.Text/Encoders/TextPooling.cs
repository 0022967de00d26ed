namespace GroupRobust.Text.Encoders;

/// <summary>How <see cref="BertEncoder"/> turns token representations [B, L, H] into one vector per text [B, H]: the representation the head reads and JM1 mixes at the "output" layer.</summary>
public enum TextPooling
{
    /// <summary>The first token's ([CLS]) final representation (DistilBERT's and RoBERTa's classifiers read it).</summary>
    Cls,

    /// <summary>The mean over the attended tokens (padding excluded), as sentence-transformers pool all-MiniLM-L6-v2.</summary>
    Mean,

    /// <summary>BERT's pooler: tanh(dense([CLS])), what <c>BertForSequenceClassification</c> classifies (group_DRO's and JM1's MultiNLI model). BERT only; loads <c>pooler.dense.*</c>.</summary>
    Pooler,
}

from .multilabel_soft_margin import MultiLabelSoftMarginLoss

__all__ = ['MultiLabelSoftMarginLoss']
